import TandemRouter

print("tandem-router: not built yet")
