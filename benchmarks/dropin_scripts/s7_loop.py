from scipy.integrate import solve_ivp

finals = []
for k in [0.5, 1.0, 1.5, 2.0]:
    sol = solve_ivp(lambda t, y: -k * y, (0, 2), [1.0], rtol=1e-8, atol=1e-10)
    finals.append(sol.y[0, -1])
print("RESULT", *finals)
