Feature: Narration core fields
  Every narration says who acts, what they do, to what, and one sentence for
  people; optional context fields travel typed; the level follows the action.

  Scenario: a narration carries actor, action, target and human text
    Given a narration from "model-provisioner" doing "resolve" on "file:/m.gguf" saying "Resolving model reference: file:/m.gguf"
    When it is narrated
    Then exactly 1 narration is captured
    And the captured narration has actor "model-provisioner" and action "resolve"
    And the captured narration field "target" is "file:/m.gguf"
    And the captured narration field "human" is "Resolving model reference: file:/m.gguf"
    And the captured narration field "pool_id" is absent

  Scenario: optional context and performance fields are kept with their types
    Given a narration from "engine-provisioner" doing "cmake-build" on "pool-a" saying "Building llama-server with 8 parallel jobs"
    And the narration field "pool_id" is set to "pool-a"
    And the narration field "engine" is set to "llamacpp"
    And the narration field "device" is set to "cuda:0"
    And the narration field "duration_ms" is set to "1500"
    And the narration field "bytes" is set to "4096"
    When it is narrated
    Then the captured narration field "pool_id" is "pool-a"
    And the captured narration field "engine" is "llamacpp"
    And the captured narration field "device" is "cuda:0"
    And the captured narration field "duration_ms" is "1500"
    And the captured narration field "bytes" is "4096"

  Scenario Outline: the level follows the action name
    Given a narration from "model-provisioner" doing "<action>" on "org/repo" saying "step"
    When it is narrated
    Then the captured narration level is "<level>"

    Examples:
      | action          | level |
      | download        | INFO  |
      | download-retry  | WARN  |
      | download-failed | ERROR |
      | verify-failed   | ERROR |
      | complete        | INFO  |
