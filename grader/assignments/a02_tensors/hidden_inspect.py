"""The 02_tensors hidden graders' look inside the model the student's `build_iris_mlp` returned.

Runs in the student's process: the graders send this module's source
(`student.run_grader_code(INSPECT_SOURCE, "inspect", model)`), where it is executed in a
namespace of its own and `inspect` reads the kept model. What comes back is plain data
(its state_dict, detached copies on the CPU), or None when the object is not an
`nn.Module`. Only torch is imported, so the source runs as it is there.
"""

import torch


def inspect(model):
    if not isinstance(model, torch.nn.Module):
        return None
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
