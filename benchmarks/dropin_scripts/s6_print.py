import numpy as np
from scipy.optimize import minimize

res = minimize(lambda x: np.sum((x - 3.0) ** 2), np.zeros(2), method="BFGS")
print(res)
print("RESULT", *res.x)
