import numpy as np
from scipy.integrate import solve_ivp


def lotka(t, z, a, b, c, d):
    x, y = z
    return np.array([a*x - b*x*y, -c*y + d*x*y])
sol = solve_ivp(lotka, [0, 15], [10, 5], args=(1.5, 1, 3, 1), rtol=1e-8, atol=1e-10)
print("RESULT", *sol.y[:, -1])
