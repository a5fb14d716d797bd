"""The "building micrograd" lecture's workflow on our Value, with its `class
Value` cell replaced by our import: labelled expressions, backpropagation by
hand node by node, a graph trace and drawing of the user's own, and a small
MLP trained with the lecture's loop; compared with the same code on a
plain-Python Value of the lecture's kind (closures, a label), written here."""

import math
import random

import pytest

from micrograd_fast import viz


class LectureValue:
    """A Value in the lecture's style: closures for _backward, a set of
    children, a label."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data})"

    def __add__(self, other):
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, other):
        out = LectureValue(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += other * self.data ** (other - 1) * out.grad
        out._backward = _backward
        return out

    def __rmul__(self, other):
        return self * other

    def __radd__(self, other):
        return self + other

    def __truediv__(self, other):
        return self * other**-1

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def tanh(self):
        t = math.tanh(self.data)
        out = LectureValue(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = LectureValue(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def expression(Value):
    """The lecture's first expression, every node labelled."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return L


def trace(root):
    """The lecture's trace: every node and edge, by walking _prev."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def drawing(root):
    """What the lecture's draw_dot would print for each node and edge, as
    comparable text: label, data, grad and op of every node."""
    nodes, edges = trace(root)
    boxes = sorted(f"{n.label} | data {n.data:.4f} | grad {n.grad:.4f} | {n._op}" for n in nodes)
    arrows = sorted(f"{child.label}{child._op} -> {parent.label}{parent._op}" for child, parent in edges)
    return boxes, arrows


def test_labelled_expression_and_its_drawing(Value):
    ours, theirs = expression(Value), expression(LectureValue)
    assert (ours.data, ours.label) == (theirs.data, theirs.label) == (-8.0, "L")
    assert drawing(ours) == drawing(theirs)
    ours.backward()
    theirs.backward()
    assert drawing(ours) == drawing(theirs)


def neuron(Value):
    """The lecture's neuron, its inputs, weights and every step labelled."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, [o, n, b, x1w1x2w2, x2w2, x1w1, x2, w2, x1, w1]


def test_backpropagation_by_hand_node_by_node(Value):
    """o.grad = 1.0, then each node's _backward() called by hand, parents
    before children, as the lecture does before writing backward()."""
    o, nodes = neuron(Value)
    o.grad = 1.0
    for node in nodes:
        node._backward()
    by_hand = {node.label: node.grad for node in nodes}
    assert by_hand["x1"] == pytest.approx(-1.5) and by_hand["w1"] == pytest.approx(1.0)
    assert by_hand["x2"] == pytest.approx(0.5) and by_hand["w2"] == 0.0
    o2, nodes2 = neuron(Value)
    o2.backward()
    assert {node.label: node.grad for node in nodes2} == by_hand
    lecture_o, lecture_nodes = neuron(LectureValue)
    lecture_o.grad = 1.0
    for node in lecture_nodes:
        node._backward()
    assert by_hand == pytest.approx({node.label: node.grad for node in lecture_nodes}, rel=1e-12)


def test_the_drawing_shows_labels(Value):
    pytest.importorskip("graphviz")
    o, _ = neuron(Value)
    source = viz.draw_dot(o).source
    for label in ("x1", "w2", "x1*w1 + x2*w2", "o"):
        assert f"{{ {label} | data" in source
    assert (o * 2).label == "" and "{  | data" in viz.draw_dot(o * 2).source


def mlp_classes(Value):
    """The lecture's Neuron, Layer and MLP, written as it writes them."""

    class Neuron:
        def __init__(self, nin):
            self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
            self.b = Value(random.uniform(-1, 1))

        def __call__(self, x):
            act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
            return act.tanh()

        def parameters(self):
            return self.w + [self.b]

    class Layer:
        def __init__(self, nin, nout):
            self.neurons = [Neuron(nin) for _ in range(nout)]

        def __call__(self, x):
            outs = [n(x) for n in self.neurons]
            return outs[0] if len(outs) == 1 else outs

        def parameters(self):
            return [p for neuron in self.neurons for p in neuron.parameters()]

    class MLP:
        def __init__(self, nin, nouts):
            sz = [nin] + nouts
            self.layers = [Layer(sz[i], sz[i + 1]) for i in range(len(nouts))]

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    return MLP


def train(Value, steps=20):
    """The lecture's training loop: forward, p.grad = 0.0, backward, and
    p.data += -0.1 * p.grad; returns the losses and the final weights."""
    random.seed(7)
    n = mlp_classes(Value)(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    losses = []
    for _ in range(steps):
        ypred = [n(x) for x in xs]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        losses.append(loss.data)
    return losses, [p.data for p in n.parameters()]


def test_the_lectures_mlp_trains_as_on_the_lectures_value(Value):
    ours, ours_weights = train(Value)
    theirs, their_weights = train(LectureValue)
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours_weights == pytest.approx(their_weights, rel=1e-12)
    assert ours[-1] < ours[0] / 10  # and it learns
