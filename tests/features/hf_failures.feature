Feature: Hugging Face downloads fail clearly and keep nothing unverified
  Every failure narrates a failure event with an error kind; messages say
  what to do and never carry a token.

  Background:
    Given a stand-in Hub serving "org/tiny" with GGUF files "tiny-Q4_K_M.gguf" and "tiny-Q8_0.gguf"

  Scenario: a digest that does not match the Hub's is refused before any transfer
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub with a wrong digest
    Then the HF ensure fails with error kind "digest-mismatch"
    And the HF narrations are "resolve, ensure, verify, verify-failed"
    And no blob is in the HF cache
    And the weights of "tiny-Q4_K_M.gguf" left the stand-in Hub 0 times

  Scenario: a gated repo without a token says to set HF_TOKEN
    Given the repo "org/tiny" is gated on the stand-in Hub
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF ensure fails with error kind "gated-repo"
    And the HF error message names "HF_TOKEN"
    And the HF narrations are "resolve, ensure, ensure-failed"

  Scenario: offline, a cached file resolves with no request
    Given "hf:org/tiny/tiny-Q4_K_M.gguf" was downloaded from the stand-in Hub before
    And HF offline mode is on
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q4_K_M.gguf"
    And the stand-in Hub saw no request while offline

  Scenario: offline, a file missing from the cache fails clearly
    Given HF offline mode is on
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF ensure fails with error kind "offline-miss"
    And the HF error message names "HF_HUB_OFFLINE"
    And the HF narrations are "resolve, ensure, ensure-failed"
    And the stand-in Hub saw no request while offline

  Scenario: an unknown quantization lists the available files
    When I ensure "hf:org/tiny:Q5_K_M" from the stand-in Hub
    Then the HF ensure fails with error kind "quant-not-found"
    And the HF error message names "tiny-Q4_K_M.gguf, tiny-Q8_0.gguf"
    And the HF narrations are "resolve, ensure, ensure-failed"
