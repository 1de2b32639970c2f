/*
 * libFuzzer target for media/_jpeg_headers.c: the marker walk, without Python.
 *
 * The walk reads through pread(2) on a file descriptor, so the input is put in an
 * in-memory file (memfd) and walked exactly as a file on disk would be. Built by
 * scripts/fuzz with clang -fsanitize=fuzzer,address,undefined.
 */
#define _GNU_SOURCE
#define ANNOTASK_FUZZ 1
#include <sys/mman.h>

#include "../src/annotask/media/_jpeg_headers.c"

static struct reader reader;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("jpeg", MFD_CLOEXEC);
    if (fd < 0) return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) break;
        done += (size_t)n;
    }
    int width = 0, height = 0, orientation = 0;
    reader.fd = fd;
    reader.base = 0;
    reader.length = 0;
    if (walk(&reader, &width, &height, &orientation)) {
        /* Found answers are always plausible: a size and an orientation 1..8. */
        if (width <= 0 || height <= 0 || orientation < 1 || orientation > 8) __builtin_trap();
    }
    close(fd);
    return 0;
}
