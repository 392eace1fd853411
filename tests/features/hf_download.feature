Feature: Models from a Hugging Face Hub are downloaded once, resumed, verified and shared
  `hf:` references are fetched natively into the shared HF cache: the
  sha256 is checked while the bytes stream, an interrupted transfer resumes
  where it stopped, and a file already in the cache is not fetched again.

  Background:
    Given a stand-in Hub serving "org/tiny" with GGUF files "tiny-Q4_K_M.gguf" and "tiny-Q8_0.gguf"

  Scenario: a fresh download is verified while streaming and registered
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q4_K_M.gguf"
    And the HF narrations are "resolve, ensure, download, downloaded, verify, verified, register, complete"
    And the weights of "tiny-Q4_K_M.gguf" left the stand-in Hub 1 time

  Scenario: a file downloaded and verified before is a cache hit, not hashed again
    Given "hf:org/tiny/tiny-Q4_K_M.gguf" was downloaded from the stand-in Hub before
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q4_K_M.gguf"
    And the HF narrations are "resolve, ensure, verify, cache-hit, verified, complete"
    And the weights of "tiny-Q4_K_M.gguf" left the stand-in Hub 1 time

  Scenario: an interrupted transfer resumes with only the missing tail
    Given a download of "tiny-Q4_K_M.gguf" was interrupted after 200000 bytes
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q4_K_M.gguf"
    And only the missing tail of "tiny-Q4_K_M.gguf" was sent again
    And an HF narration says "Resuming org/tiny/tiny-Q4_K_M.gguf"
    And the HF narrations are "resolve, ensure, download, downloaded, verify, verified, register, complete"

  Scenario: a server fault is retried, then the download succeeds
    Given the stand-in CDN answers 503 once
    When I ensure "hf:org/tiny/tiny-Q4_K_M.gguf" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q4_K_M.gguf"
    And the HF narrations are "resolve, ensure, download, download-retry, downloaded, verify, verified, register, complete"
    And a retry narration carries backoff_ms

  Scenario: quantization selection picks the matching GGUF
    When I ensure "hf:org/tiny:q8_0" from the stand-in Hub
    Then the HF model is ready with the bytes of "tiny-Q8_0.gguf"
    And the HF narrations are "resolve, ensure, download, downloaded, verify, verified, register, complete"
