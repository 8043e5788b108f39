"""A CS231n captioning notebook, cell by cell, with only its imports changed, on a small COCO fixture.

The cells are the RNN and LSTM notebooks' (data, look at the data, checks, overfit a small
data set with CaptioningSolver, sample and decode), run in one namespace as a notebook runs
them; ``from cs231n.X`` became ``from minitorch_cap.cs231n.X`` and nothing else changed. The test
then asserts what the notebook's text asks the student to see.
"""

import re

import matplotlib
import numpy as np

from tests.course_values import MODEL_LOSS as COURSE_LOSSES

matplotlib.use("Agg")

SETUP = '''
import time, os, json
import numpy as np
import matplotlib.pyplot as plt

from minitorch_cap.cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from minitorch_cap.cs231n.rnn_layers import *
from minitorch_cap.cs231n.captioning_solver import CaptioningSolver
from minitorch_cap.cs231n.classifiers.rnn import CaptioningRNN
from minitorch_cap.cs231n.coco_utils import load_coco_data, sample_coco_minibatch, decode_captions
from minitorch_cap.cs231n.image_utils import image_from_url

plt.rcParams['figure.figsize'] = (10.0, 8.0)
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

def rel_error(x, y):
    """ returns relative error """
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))
'''

DATA = '''
data = load_coco_data(pca_features=True)

for k, v in data.items():
    if type(v) == np.ndarray:
        print(k, type(v), v.shape, v.dtype)
    else:
        print(k, type(v), len(v))
'''

LOOK_AT_DATA = '''
batch_size = 3

captions, features, urls = sample_coco_minibatch(data, batch_size=batch_size)
for i, (caption, url) in enumerate(zip(captions, urls)):
    plt.imshow(image_from_url(url))
    plt.axis('off')
    caption_str = decode_captions(caption, data['idx_to_word'])
    plt.title(caption_str)
    plt.show()
'''

RNN_STEP_BACKWARD = '''
from minitorch_cap.cs231n.rnn_layers import rnn_step_forward, rnn_step_backward
np.random.seed(231)
N, D, H = 4, 5, 6
x = np.random.randn(N, D)
h = np.random.randn(N, H)
Wx = np.random.randn(D, H)
Wh = np.random.randn(H, H)
b = np.random.randn(H)

out, cache = rnn_step_forward(x, h, Wx, Wh, b)

dnext_h = np.random.randn(*out.shape)

fx = lambda x: rnn_step_forward(x, h, Wx, Wh, b)[0]
fh = lambda prev_h: rnn_step_forward(x, h, Wx, Wh, b)[0]
fWx = lambda Wx: rnn_step_forward(x, h, Wx, Wh, b)[0]
fWh = lambda Wh: rnn_step_forward(x, h, Wx, Wh, b)[0]
fb = lambda b: rnn_step_forward(x, h, Wx, Wh, b)[0]

dx_num = eval_numerical_gradient_array(fx, x, dnext_h)
dprev_h_num = eval_numerical_gradient_array(fh, h, dnext_h)
dWx_num = eval_numerical_gradient_array(fWx, Wx, dnext_h)
dWh_num = eval_numerical_gradient_array(fWh, Wh, dnext_h)
db_num = eval_numerical_gradient_array(fb, b, dnext_h)

dx, dprev_h, dWx, dWh, db = rnn_step_backward(dnext_h, cache)

print('dx error: ', rel_error(dx_num, dx))
print('dprev_h error: ', rel_error(dprev_h_num, dprev_h))
print('dWx error: ', rel_error(dWx_num, dWx))
print('dWh error: ', rel_error(dWh_num, dWh))
print('db error: ', rel_error(db_num, db))
'''

TEMPORAL_SOFTMAX = '''
# Sanity check for temporal softmax loss
from minitorch_cap.cs231n.rnn_layers import temporal_softmax_loss

N, T, V = 100, 1, 10

def check_loss(N, T, V, p):
    x = 0.001 * np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) <= p
    print(temporal_softmax_loss(x, y, mask)[0])

check_loss(100, 1, 10, 1.0)   # Should be about 2.3
check_loss(100, 10, 10, 1.0)  # Should be about 23
check_loss(5000, 10, 10, 0.1) # Should be within 2.2-2.4

# Gradient check for temporal softmax loss
N, T, V = 7, 8, 9

x = np.random.randn(N, T, V)
y = np.random.randint(V, size=(N, T))
mask = (np.random.rand(N, T) > 0.5)

loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)

dx_num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False)

print('dx error: ', rel_error(dx, dx_num))
'''

MODEL_LOSS = '''
N, D, W, H = 10, 20, 30, 40
word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
V = len(word_to_idx)
T = 13

model = CaptioningRNN(
    word_to_idx,
    input_dim=D,
    wordvec_dim=W,
    hidden_dim=H,
    cell_type='{cell}',
    dtype=np.float64
)

# Set all model parameters to fixed values
for k, v in model.params.items():
    model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)

features = np.linspace({lo}, {hi}, num=(N * D)).reshape(N, D)
captions = (np.arange(N * T) % V).reshape(N, T)

loss, grads = model.loss(features, captions)
expected_loss = {expected}

print('loss: ', loss)
print('expected loss: ', expected_loss)
print('difference: ', abs(loss - expected_loss))
'''

GRADIENT_CHECK = '''
np.random.seed(231)

batch_size = 2
timesteps = 3
input_dim = 4
wordvec_dim = 5
hidden_dim = 6
word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
vocab_size = len(word_to_idx)

captions = np.random.randint(vocab_size, size=(batch_size, timesteps))
features = np.random.randn(batch_size, input_dim)

model = CaptioningRNN(
    word_to_idx,
    input_dim=input_dim,
    wordvec_dim=wordvec_dim,
    hidden_dim=hidden_dim,
    cell_type='rnn',
    dtype=np.float64,
)

loss, grads = model.loss(features, captions)

for param_name in sorted(grads):
    f = lambda _: model.loss(features, captions)[0]
    param_grad_num = eval_numerical_gradient(f, model.params[param_name], verbose=False, h=1e-6)
    e = rel_error(param_grad_num, grads[param_name])
    print('%s relative error: %e' % (param_name, e))
'''

OVERFIT = '''
np.random.seed(231)

small_data = load_coco_data(max_train=50)

small_{cell}_model = CaptioningRNN(
    cell_type='{cell}',
    word_to_idx=data['word_to_idx'],
    input_dim=data['train_features'].shape[1],
    hidden_dim=512,
    wordvec_dim=256,
)

small_{cell}_solver = CaptioningSolver(
    small_{cell}_model, small_data,
    update_rule='adam',
    num_epochs=50,
    batch_size=25,
    optim_config={
     'learning_rate': 5e-3,
    },
    lr_decay=0.995,
    verbose=True, print_every=10,
)

small_{cell}_solver.train()

# Plot the training losses.
plt.plot(small_{cell}_solver.loss_history)
plt.xlabel('Iteration')
plt.ylabel('Loss')
plt.title('Training loss history')
plt.show()

print('Final loss: ', small_{cell}_solver.loss_history[-1])
'''

SAMPLE = '''
# If you get an error, the URL just no longer exists, so don't worry!
# You can re-sample as many times as you want.
for split in ['train', 'val']:
    minibatch = sample_coco_minibatch(small_data, split=split, batch_size=2)
    gt_captions, features, urls = minibatch
    gt_captions = decode_captions(gt_captions, data['idx_to_word'])

    sample_captions = small_{cell}_model.sample(features)
    sample_captions = decode_captions(sample_captions, data['idx_to_word'])

    for gt_caption, sample_caption, url in zip(gt_captions, sample_captions, urls):
        img = image_from_url(url)
        # Skip missing URLs.
        if img is None: continue
        plt.imshow(img)
        plt.title('%s\\n%s\\nGT:%s' % (split, sample_caption, gt_caption))
        plt.axis('off')
        plt.show()
'''


def fill(template, **values):
    """A cell template with ``{name}`` replaced by each value (the cells hold braces of their own)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def printed(output, label):
    """Every number printed after ``label`` in a cell's output."""
    return [float(v) for v in re.findall(re.escape(label) + r"\s+([-+0-9.e]+)", output)]


def test_the_notebook_runs_with_only_its_imports_changed(course_coco, capsys):
    ns = {}
    run = lambda cell: (exec(cell, ns), capsys.readouterr().out)[1]      # one notebook cell
    import matplotlib.pyplot as plt
    try:
        run(SETUP)
        out = run(DATA)
        assert "train_captions <class 'numpy.ndarray'> (12, 7) int32" in out
        assert "word_to_idx <class 'dict'> 9" in out

        run(LOOK_AT_DATA)
        assert all(c.startswith("<START>") for c in ns["decode_captions"](ns["captions"], ns["data"]["idx_to_word"]))

        out = run(RNN_STEP_BACKWARD)
        errors = [printed(out, f"{name} error: ")[0] for name in ("dx", "dprev_h", "dWx", "dWh", "db")]
        assert max(errors) < 1e-8                                     # "errors less than 1e-8"

        out = run(TEMPORAL_SOFTMAX)
        values = [float(line) for line in out.splitlines()[:3]]
        assert abs(values[0] - 2.3) < 0.01 and abs(values[1] - 23) < 0.1 and 2.2 <= values[2] <= 2.4
        assert printed(out, "dx error: ")[0] < 1e-7

        for cell, ((lo, hi), expected) in COURSE_LOSSES.items():
            out = run(fill(MODEL_LOSS, cell=cell, lo=lo, hi=hi, expected=expected))
            assert printed(out, "difference: ")[0] < 1e-10             # "difference of less than 1e-10"

        out = run(GRADIENT_CHECK)
        assert max(float(v) for v in re.findall(r"relative error: (\S+)", out)) < 1e-6

        for cell in ("rnn", "lstm"):
            out = run(fill(OVERFIT, cell=cell))
            lines = [line for line in out.splitlines() if line.startswith("(Iteration")]
            assert lines[0].startswith("(Iteration 1 / 100) loss: ") and len(lines) == 10
            assert printed(out, "Final loss: ")[0] < 0.1                # "final loss less than 0.1"

            run(fill(SAMPLE, cell=cell))
            # overfit: the training images get their own captions back
            data, model = ns["small_data"], ns[f"small_{cell}_model"]
            sampled = ns["decode_captions"](model.sample(data["train_features"]), data["idx_to_word"])
            truth = ns["decode_captions"](data["train_captions"][::2], data["idx_to_word"])
            order = np.argsort(data["train_image_idxs"][::2])
            by_image = dict(zip(data["train_image_idxs"][::2][order], np.asarray(truth)[order]))
            assert all("<START> " + sampled[i] == by_image[i] for i in by_image)
    finally:
        plt.close("all")
