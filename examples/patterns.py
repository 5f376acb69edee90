"""A loop to show pattern groups: `sudo trace_program examples/patterns.py`.

Every step calls the same functions in the same order, so the trace folds
the steps into one group, with the two passes over the layers nested in it.
"""


def scaled_dot_product_attention(q, k):
    return q * k


def get(context, key):
    return context.get(key, 0)


def forward(x):
    return x + 1


def layer_name(index):
    return "layer%d" % index


def train(steps):
    context = {"scale": 2}
    total = 0
    for _ in range(steps):
        total += scaled_dot_product_attention(1, 2)
        total += get(context, "scale")
        for index in range(2):
            total = forward(total)
            layer_name(index)
    return total


print(train(6))
