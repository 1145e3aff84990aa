import numpy as np
from scipy.optimize import minimize

history = []
res = minimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(2), callback=lambda xk: history.append(np.copy(xk)))
print("RESULT", *res.x, float(len(history) > 0))
