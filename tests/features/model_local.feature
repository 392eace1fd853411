Feature: Local GGUF models are verified, inspected and catalogued
  An orchestrator ensures a model for every pool start: the first time the
  file is hashed and recorded; afterwards an unchanged file is not hashed
  again, and a changed one is never reported verified.

  Background:
    Given a fresh model cache
    And a tiny GGUF model file

  Scenario: a local model is hashed, inspected and registered
    When I ensure the model is present with its digest
    Then the model is ready with architecture "llama"
    And the model was verified by hashing
    And the model narrations are "resolve, ensure, verify, verified, register, complete"
    And the "complete" narration carries duration_ms and bytes
    And the "verified" narration carries duration_ms and bytes
    And the catalog records the model with its digest

  Scenario: a warm ensure of an unchanged file is a cache hit
    Given the model file has not changed for a while
    And the model was ensured once
    When I ensure the model is present with the digest it was registered with
    Then the model is ready with architecture "llama"
    And the model was verified by fingerprint
    And the model narrations are "resolve, ensure, verify, cache-hit, verified, complete"

  Scenario: a model changed in place after verification is not reported verified
    Given the model file has not changed for a while
    And the model was ensured once
    And one byte of the model is changed in place, keeping its size and mtime
    When I ensure the model is present with the digest it was registered with
    Then the ensure fails with error kind "digest-mismatch"
    And the model narrations are "resolve, ensure, verify, verify-failed"
