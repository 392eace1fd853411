Feature: Secrets never reach a narration
  Every string field is redacted before the event is emitted: header
  values, bearer and hf_ tokens, URL userinfo and secret query parameters.

  Scenario Outline: a secret in any field is replaced, the rest is kept
    Given a narration from "model-provisioner" doing "download" on "org/repo" saying "Downloading"
    And the narration field "<field>" is set to "<value>"
    When it is narrated
    Then no captured narration contains "<secret>"
    And the captured narration field "<field>" contains "[REDACTED]"
    And the captured narration field "<field>" contains "<kept>"

    Examples:
      | field          | value                                               | secret           | kept             |
      | human          | sent Authorization: Bearer abc.def.ghi              | abc.def.ghi      | sent             |
      | target         | https://alice:pw-123@example.com/f.gguf             | pw-123           | example.com      |
      | model_ref      | https://cdn.example/f.gguf?X-Amz-Signature=s1g&x=1  | s1g              | x=1              |
      | error_kind     | token hf_abcdefghijkl rejected                      | hf_abcdefghijkl  | rejected         |
      | correlation_id | req?access_token=tok-9                              | tok-9            | access_token=    |
      | pool_id        | HF_TOKEN=secret-value                               | secret-value     | HF_TOKEN=        |
      | emitted_by     | tool@1 api_key=k-1                                  | k-1              | tool@1           |
      | device         | cuda:0 password: hunter2                            | hunter2          | cuda:0           |

  Scenario: text without a secret is kept as written
    Given a narration from "model-provisioner" doing "resolve" on "hf:org/repo/model-Q4_K_M.gguf" saying "Resolving model reference: hf:org/repo/model-Q4_K_M.gguf"
    When it is narrated
    Then the captured narration field "target" is "hf:org/repo/model-Q4_K_M.gguf"
    And the captured narration field "human" is "Resolving model reference: hf:org/repo/model-Q4_K_M.gguf"
