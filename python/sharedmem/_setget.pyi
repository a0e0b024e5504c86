# SPDX-License-Identifier: MIT
# Type stubs of the C extension sharedmem._setget.
DEFAULT_CAPACITY_CHARS: int
DEFAULT_SEGMENT_NAME: str

def set_shared_mem(text: str) -> None: ...
def get_shared_mem() -> str: ...
