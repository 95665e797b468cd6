import TandemService

print("tandem-echo: not built yet")
