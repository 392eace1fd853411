Feature: Planning an engine runs nothing
  An orchestrator may ask what provisioning a pool would do before doing
  it: the plan validates the pool and names every path, definition and
  tool, without starting a process or writing a file.

  Scenario: a legacy CUDA pool is planned as a CUDA build, with no side effect
    Given fake build tools on PATH
    And the tools "nvcc" are installed
    And a pool on ref "v0" with cmake flags "-DLLAMA_CUBLAS=ON"
    When I plan the pool
    Then the plan builds "llamacpp-source:v0-cuda"
    And the plan's CMake definitions include "-DGGML_CUDA=ON"
    And the plan's CMake definitions include "-DLLAMA_BUILD_SERVER=ON"
    And no tool was run
    And nothing was written to the cache dir
    And no engine narration was emitted
