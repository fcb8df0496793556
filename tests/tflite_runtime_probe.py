"""Run by .venv-tflite's Python (tflite-runtime 2.14, numpy < 2): load each model named in the
input .npz, invoke it on the given input, save the outputs. Imports nothing of moodcast."""

import sys

import numpy as np
from tflite_runtime.interpreter import Interpreter

inputs = np.load(sys.argv[1])
outputs = {}
for key in inputs.files:
    interpreter = Interpreter(model_path=key.replace("|", "/"), num_threads=1)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, inputs[key].shape)  # free-size inputs (MTCNN's P-Net)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, inputs[key])
    interpreter.invoke()
    for i, detail in enumerate(interpreter.get_output_details()):
        outputs[f"{key}#{i}"] = interpreter.get_tensor(detail["index"])
np.savez(sys.argv[2], **outputs)
