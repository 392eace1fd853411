Feature: Log lines
  The log adapter writes `[actor] action: human` for people and one JSON
  object per line for machines, with stable field names.

  Scenario: the human line is exactly actor, action and sentence
    Given a narration from "model-provisioner" doing "resolve" on "file:/m.gguf" saying "Resolving model reference: file:/m.gguf"
    When it is narrated
    Then its human log line is "[model-provisioner] resolve: Resolving model reference: file:/m.gguf"

  Scenario: the JSON line has level, the core fields, then every set field once
    Given a narration from "engine-provisioner" doing "cmake-retry" on "pool-a" saying "Retrying with a compatible host compiler"
    And the narration field "pool_id" is set to "pool-a"
    And the narration field "backoff_ms" is set to "250"
    When it is narrated
    Then its JSON log line has the keys "level, actor, action, target, human, pool_id, backoff_ms, emitted_by, emitted_at_ms" in this order
    And its JSON log line has "level" equal to "WARN"
    And its JSON log line has "target" equal to "pool-a"
    And its JSON log line has "backoff_ms" equal to "250"
