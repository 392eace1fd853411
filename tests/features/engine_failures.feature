Feature: Engine provisioning fails early, clearly and narrated
  Every failure is a typed error whose narration carries error_kind; the
  message says what is wrong and what to do.

  Scenario: every missing tool is listed at once, with install hints
    Given fake build tools on PATH
    And the tools "cmake, ninja" are missing
    And a pool on ref "v0"
    When I ensure the pool
    Then the engine ensure fails with error kind "missing-tools"
    And the engine error mentions "missing build tools: cmake, ninja"
    And the engine error mentions "apt-get install -y cmake ninja-build"
    And the engine error mentions "dnf install -y cmake ninja-build"
    And the engine error mentions "pacman -S --needed cmake ninja"
    And the engine narrations are "start, preflight, preflight-failed"
    And no tool was run

  Scenario Outline: a hostile ref is refused when the pool is loaded, before any process starts
    Given fake build tools on PATH
    When I load a pool whose ref is "<ref>"
    Then loading the pool fails naming "provisioning.source.ref"
    And no engine narration was emitted
    And no tool was run
    And nothing was written to the cache dir

    Examples:
      | ref                            |
      | --upload-pack=touch /tmp/pwned |
      | -b                             |
      | ../../etc/passwd               |
      | v0\nrm -rf /                   |

  Scenario: a CUDA configure failure is retried once with a compatible host compiler
    Given fake build tools on PATH
    And the tools "nvcc, gcc-13, g++-13, clang-17, clang++-17" are installed
    And CMake fails for CUDA unless a host compiler is set
    And a pool on ref "v0" with cmake flags "-DGGML_CUDA=ON"
    When I ensure the pool
    Then the engine is prepared as "llamacpp-source:v0-cuda"
    And the engine narrations are "start, preflight, git-clone, git-clone, git-checkout, cmake-configure, cmake-retry, cmake-build, built, complete"
    And the "cmake-retry" narration is at level "WARN"
    And cmake was configured 2 times, each with "-DGGML_CUDA=ON"
    And the retry used the host compiler "g++-13"

  Scenario: a CUDA build that fails after the retry is never replaced by a CPU build
    Given fake build tools on PATH
    And the tools "nvcc, gcc-13, g++-13" are installed
    And CMake configure always fails
    And a pool on ref "v0" with cmake flags "-DGGML_CUDA=ON"
    When I ensure the pool
    Then the engine ensure fails with error kind "cuda-configure"
    And the engine narrations are "start, preflight, git-clone, git-clone, git-checkout, cmake-configure, cmake-retry, cmake-failed"
    And the "cmake-failed" narration is at level "ERROR"
    And the engine error mentions "CMake Error at CMakeLists.txt:12"
    And cmake was configured 2 times, each with "-DGGML_CUDA=ON"
    And no build was run
