#!/usr/bin/python3
from pphelp import TapRunner
t = TapRunner()
t.done()
