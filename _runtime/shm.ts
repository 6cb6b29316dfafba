// Copyright 2026 the @parallel/multiprocessing authors. MIT license.
// POSIX shared memory through FFI: the one place the package calls libc.
// Deno has no SharedArrayBuffer between processes; a segment mapped by
// `shm_open` and `mmap` in each process is the same memory in all of them.

/** O_RDWR, O_CREAT and O_EXCL, as Linux spells them. */
const O_RDWR = 0o2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const PROT_READ_WRITE = 0x3;
const MAP_SHARED = 0x1;
const SEEK_END = 2;

const SYMBOLS = {
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** libc while anything uses it: a mapped segment, or a call under way. */
let library: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;
let users = 0;

/**
 * libc, for one more user (give it back with {@linkcode release}): opened
 * by the first and closed by the last, so nothing outlives what maps
 * memory. Throws what is needed where it cannot be opened: Linux, and
 * `--allow-ffi` (FFI reaches anything, so Deno grants it only by flag).
 */
function open(action: string): Libc {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `Cannot ${action}: shared memory between processes is implemented on Linux only (POSIX shm through FFI), and this is ${Deno.build.os}`,
    );
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Cannot ${action}: shared memory between processes needs --allow-ffi (Deno has no SharedArrayBuffer between processes; the package maps POSIX shared memory through libc)`,
    );
  }
  // Asked each time: a permission revoked since must stop the next call.
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  users++;
  return library.symbols;
}

/** Gives back what {@linkcode open} gave. */
function release(): void {
  if (--users > 0 || !library) return;
  library.close();
  library = null;
}

function errno(lib: Libc): number {
  const at = lib.__errno_location();
  return at ? new Deno.UnsafePointerView(at).getInt32() : 0;
}

/** A mapped segment: its memory, and how to let it go. */
export interface Segment {
  buffer: ArrayBuffer;
  size: number;
  unmap(): void;
}

/**
 * Opens (or creates, of `size` bytes) the segment `name` and maps all of
 * it.
 *
 * @throws {Deno.errors.AlreadyExists} If `create` and it exists.
 * @throws {Deno.errors.NotFound} If not `create` and it does not exist.
 */
export function mapSegment(
  name: string,
  create: boolean,
  size: number,
): Segment {
  const action = create
    ? `create shared memory ${name}`
    : `open shared memory ${name}`;
  const lib = open(action);
  const path = new TextEncoder().encode(`/${name}\0`);
  const flags = O_RDWR | (create ? O_CREAT | O_EXCL : 0);
  const fd = lib.shm_open(path, flags, 0o600);
  let mapped = false;
  if (fd < 0) {
    const code = errno(lib);
    release();
    if (code === 17) {
      throw new Deno.errors.AlreadyExists(`Cannot ${action}: it exists`);
    }
    if (code === 2) {
      throw new Deno.errors.NotFound(`Cannot ${action}: there is none`);
    }
    throw new Error(`Cannot ${action}: shm_open failed with errno ${code}`);
  }
  try {
    if (create && lib.ftruncate(fd, BigInt(size)) !== 0) {
      const code = errno(lib);
      lib.shm_unlink(path);
      throw new Error(`Cannot ${action}: ftruncate failed with errno ${code}`);
    }
    const length = Number(lib.lseek(fd, 0n, SEEK_END));
    if (length <= 0) {
      throw new Error(`Cannot ${action}: it has no memory (size ${length})`);
    }
    const address = lib.mmap(
      null,
      BigInt(length),
      PROT_READ_WRITE,
      MAP_SHARED,
      fd,
      0n,
    );
    // MAP_FAILED is (void*)-1.
    if (!address || Deno.UnsafePointer.value(address) === 2n ** 64n - 1n) {
      throw new Error(`Cannot ${action}: mmap failed with errno ${errno(lib)}`);
    }
    const buffer = Deno.UnsafePointerView.getArrayBuffer(address, length);
    mapped = true;
    return {
      buffer,
      size: length,
      unmap() {
        if (!mapped) return;
        mapped = false;
        // Detach every view first: none can touch the memory once it is gone.
        buffer.transfer(0);
        lib.munmap(address, BigInt(length));
        release();
      },
    };
  } finally {
    lib.close(fd);
    if (!mapped) release();
  }
}

/** Removes the segment's name; its memory goes once nobody maps it. */
export function unlinkSegment(name: string): void {
  const lib = open(`unlink shared memory ${name}`);
  const failed = lib.shm_unlink(new TextEncoder().encode(`/${name}\0`)) !== 0;
  const code = failed ? errno(lib) : 0;
  release();
  if (failed) {
    if (code === 2) {
      throw new Deno.errors.NotFound(
        `Cannot unlink shared memory ${name}: there is none`,
      );
    }
    throw new Error(
      `Cannot unlink shared memory ${name}: shm_unlink failed with errno ${code}`,
    );
  }
}
