import numpy as np
from scipy.optimize import curve_fit


def model(x, a, b, c):
    return a * np.exp(-b * x) + c
x = np.linspace(0, 4, 50)
y = model(x, 2.5, 1.3, 0.5) + 0.02 * np.sin(9 * x)
popt, pcov = curve_fit(model, x, y)
print("RESULT", *popt)
