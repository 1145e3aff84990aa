import math

import numpy as np
from scipy.optimize import minimize


def f(x):
    return math.exp(x[0] - 1.0) - x[0] + (x[1] - 2.0) ** 2
res = minimize(f, np.array([0.0, 0.0]))
print("RESULT", *res.x)
