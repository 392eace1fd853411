Feature: Bad models fail clearly and leave the catalog clean
  Every failure narrates a failure event with an error kind before the
  error is returned, and nothing half-verified reaches the catalog.

  Background:
    Given a fresh model cache

  Scenario: a digest mismatch is refused
    Given a tiny GGUF model file
    When I ensure the model is present with a wrong digest
    Then the ensure fails with error kind "digest-mismatch"
    And the model narrations are "resolve, ensure, verify, verify-failed"
    And the error message names "expected sha256:"
    And the catalog has no entries

  Scenario: a missing file is refused
    When I ensure "missing.gguf" in the scenario directory
    Then the ensure fails with error kind "missing-file"
    And the model narrations are "resolve, ensure, ensure-failed"
    And the error message names "missing.gguf"
    And the catalog has no entries

  Scenario: a file that is not GGUF is refused
    Given a file "notes.txt" that is not a GGUF model
    When I ensure the model is present
    Then the ensure fails with error kind "not-gguf"
    And the model narrations are "resolve, ensure, inspect-failed"
    And the error message names "notes.txt"
    And the catalog has no entries

  Scenario: a model reference that escapes its repository is refused
    When I ensure the reference "hf:org/repo/../../etc/passwd"
    Then the ensure fails with error kind "invalid-ref"
    And the model narrations are "resolve, resolve-failed"
    And the error message names "hf:org/repo/../../etc/passwd"
