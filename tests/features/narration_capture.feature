Feature: Capturing narrations in tests
  Each scenario owns its capture. Scenarios run concurrently and never see
  each other's narrations; threads a test spawns are captured when they
  carry the capture's dispatcher.

  Scenario: a scenario captures exactly its own narrations (alpha)
    When 50 narrations tagged "alpha" are narrated
    Then exactly 50 narrations are captured
    And every captured narration is tagged "alpha"

  Scenario: a scenario captures exactly its own narrations (beta)
    When 50 narrations tagged "beta" are narrated
    Then exactly 50 narrations are captured
    And every captured narration is tagged "beta"

  Scenario: a scenario captures exactly its own narrations (gamma)
    When 50 narrations tagged "gamma" are narrated
    Then exactly 50 narrations are captured
    And every captured narration is tagged "gamma"

  Scenario: a spawned thread is captured only when it carries the dispatcher
    When a spawned thread narrates with the capture's dispatcher
    And a spawned thread narrates without it
    Then exactly 1 narration is captured
    And every captured narration is tagged "carried"

  Scenario: clearing forgets what was captured
    When 3 narrations tagged "old" are narrated
    And the capture is cleared
    And 2 narrations tagged "new" are narrated
    Then exactly 2 narrations are captured
    And every captured narration is tagged "new"

  Scenario: the sequence check accepts an ordered subsequence and rejects another order
    Given a narration from "model-provisioner" doing "resolve" on "file:/m.gguf" saying "Resolving"
    When it is narrated
    And 2 narrations tagged "between" are narrated
    Then the captured sequence includes "model-provisioner resolve, bdd tick"
    And the captured sequence does not include "bdd tick, model-provisioner resolve" in that order
