Feature: Ensuring an engine builds once, then reuses the build
  The first ensure clones, checks out, configures and builds llama-server;
  an ensure with the same commit, definitions and compilers finds the
  build stamp and runs no process at all.

  Scenario: a cold ensure builds and a warm one hits the build cache
    Given fake build tools on PATH
    And a pool on ref "v0"
    When I ensure the pool
    Then the engine is prepared as "llamacpp-source:v0-cpu"
    And the engine narrations are "start, preflight, git-clone, git-clone, git-checkout, cmake-configure, cmake-build, built, complete"
    And every engine narration carries the pool id
    And the "complete" narration carries duration_ms
    When I ensure the pool again
    Then the engine is prepared as "llamacpp-source:v0-cpu"
    And the engine narrations are "start, preflight, git-checkout, build-cached, complete"
    And the "build-cached" narration carries duration_ms
    And no tool was run
