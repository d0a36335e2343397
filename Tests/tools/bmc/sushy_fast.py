"""sushy-emulator (sushy-tools 2.2.0) with its fake driver's random 1-11 s
delay before a power change takes effect set to zero, so a test reads the
new state on its next GET instead of polling for up to 12 s. Everything
else is the real emulator. Usage: python sushy_fast.py --config FILE"""
import sys
import types

from sushy_tools.emulator.resources.systems import fakedriver

fakedriver.random = types.SimpleNamespace(randint=lambda a, b: 0)

from sushy_tools.emulator.main import main  # noqa: E402

sys.exit(main())
