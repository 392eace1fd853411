Feature: Provenance and correlation
  narrate() stamps who emitted a narration and when, unless the caller did;
  correlation fields come from the spans a narration is emitted in.

  Scenario: emitted_by and emitted_at_ms are filled when absent
    Given a narration from "model-provisioner" doing "ensure" on "file:/m.gguf" saying "Ensuring model present"
    When it is narrated
    Then the captured narration field "emitted_by" starts with "narration-core@"
    And the captured narration was emitted within the last minute

  Scenario: provenance given by the caller is kept
    Given a narration from "model-provisioner" doing "ensure" on "file:/m.gguf" saying "Ensuring model present"
    And the narration field "emitted_by" is set to "model-provisioner@0.1.0"
    And the narration field "emitted_at_ms" is set to "1700000000000"
    When it is narrated
    Then the captured narration field "emitted_by" is "model-provisioner@0.1.0"
    And the captured narration field "emitted_at_ms" is "1700000000000"

  Scenario: correlation and pool ids are inherited from the enclosing span
    Given a narration from "model-provisioner" doing "verify" on "local:/m.gguf" saying "Verifying digest"
    When it is narrated inside a span with correlation_id "corr-42" and pool_id "pool-x"
    Then the captured narration field "correlation_id" is "corr-42"
    And the captured narration field "pool_id" is "pool-x"

  Scenario: the caller's own correlation id wins over the span's
    Given a narration from "model-provisioner" doing "verify" on "local:/m.gguf" saying "Verifying digest"
    And the narration field "correlation_id" is set to "corr-mine"
    When it is narrated inside a span with correlation_id "corr-42" and pool_id "pool-x"
    Then the captured narration field "correlation_id" is "corr-mine"
    And the captured narration field "pool_id" is "pool-x"

  Scenario: the innermost span wins
    Given a narration from "engine-provisioner" doing "cmake-build" on "pool-a" saying "Building"
    When it is narrated inside nested spans with correlation_id "outer" outside and "inner" inside
    Then the captured narration field "correlation_id" is "inner"

  Scenario: a narration outside any span has no correlation id
    Given a narration from "engine-provisioner" doing "start" on "pool-a" saying "Starting"
    When it is narrated
    Then the captured narration field "correlation_id" is absent
