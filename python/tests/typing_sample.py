# SPDX-License-Identifier: MIT
# Not a test module: test_typing.py runs mypy over it, against the installed
# package's stubs (py.typed), and expects no error. It uses every typed name
# the way the README does.
import sharedmem


def values(name: str) -> int:
    with sharedmem.Segment(name, 64, mode="open_or_create") as seg:
        seg.write(b"x")
        seg.write(bytearray(b"y"))
        data: bytes = seg.read()
        size, version = seg.read_into(bytearray(8))
        ok: bool = seg.write_if(data, version)
        latest: int = seg.wait(seen=version, timeout=0.5)
        capacity: int = seg.capacity
        created: bool = seg.created
        return latest + size + capacity + int(ok) + int(created)


def setget() -> str:
    sharedmem.set_shared_mem("text")
    return sharedmem.get_shared_mem()


def raw(name: str) -> int:
    seg = sharedmem.RawSegment(name, 64)
    view: memoryview = seg.buf
    with seg.lock(timeout=1.0) as held:
        died: bool = held.owner_died
        view[0] = 1
    version: int = seg.notify()
    seg.close()
    shm = sharedmem.SharedMemory(create=True, size=16)
    shm_name: str = shm.name
    shm.close()
    shm.unlink()
    return version + int(died) + len(shm_name)


def code(error: OSError) -> bool:
    return getattr(error, "sharedmem_error", None) == sharedmem.ErrorCode.NOT_FOUND


def drop_in() -> int:
    import sharedmem.shared_memory
    sharedmem.shared_memory.install()
    numbers = sharedmem.ShareableList([1, 2, 3])
    total: int = sum(numbers[i] for i in range(len(numbers)))
    numbers.shm.close()
    with sharedmem.SharedMemoryManager() as manager:
        block = manager.SharedMemory(16)
        total += block.size
        block.close()
    return total


def sharing(name: str) -> int:
    access = sharedmem.Access(read_write=["group:video"], read_only=("user:guest",),
                              creators=["user:camera"], low_integrity=False)
    readers: tuple[str, ...] = access.read_only
    with sharedmem.Segment(name, 64, access=access) as seg, \
            sharedmem.Segment(name, access={"read_write": ["group:video"]},
                              read_only=True) as reader:
        shared: bool = seg.access is not None and not seg.read_only and reader.read_only
    raw = sharedmem.RawSegment(name, 64, mode="open", read_only=True)
    frozen: memoryview = raw.buf
    raw.close()
    shm = sharedmem.SharedMemory(name, read_only=True)
    only_read: bool = shm.read_only
    shm.close()
    removed: int = sharedmem.prune(shared=True)
    return removed + len(readers) + int(shared) + len(frozen) + int(only_read)
