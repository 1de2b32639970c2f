/*
 * Frame size and EXIF orientation of many JPEG files, read from their markers
 * without the GIL.
 *
 * Creating a task learns the size of every frame. For 10,000 files on a warm
 * page cache the Python marker walk (annotask.media.jpeg.read_size_and_orientation)
 * costs ~15 us a file and holds the GIL, so probe threads queue behind each other;
 * here a file costs its three system calls, and the threads run on every core.
 *
 * The walk is the same as the Python one, decision for decision (that function
 * is the reference, the fallback when this module is not built, and what the
 * tests compare against): None for anything unusual, so that the caller asks
 * Pillow and an answer here is never a guess.
 */
#ifndef ANNOTASK_FUZZ /* the fuzz harness (fuzz/) includes only the core below */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#endif

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_READ (16 * 1024)
#define BUFFER_SIZE (64 * 1024) /* a marker segment is at most 65,535 bytes */
#define MAX_SEGMENTS 256

struct reader {
    int fd;
    off_t base;    /* file offset of buffer[0] */
    size_t length; /* valid bytes in buffer */
    unsigned char buffer[BUFFER_SIZE];
};

/* Bytes [offset, offset + size) of the file, or fewer at its end: sets *got. */
static const unsigned char *window(struct reader *r, off_t offset, size_t size, size_t *got) {
    if (offset < r->base || (size_t)(offset - r->base) + size > r->length) {
        size_t want = size > HEADER_READ ? size : HEADER_READ;
        if (want > BUFFER_SIZE) want = BUFFER_SIZE;
        ssize_t n = pread(r->fd, r->buffer, want, offset);
        r->base = offset;
        r->length = n > 0 ? (size_t)n : 0;
    }
    size_t available = r->length - (size_t)(offset - r->base);
    *got = available < size ? available : size;
    return r->buffer + (offset - r->base);
}

static unsigned read16(const unsigned char *p, int little) {
    return little ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t read32(const unsigned char *p, int little) {
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                        (uint32_t)p[3] << 24
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                        (uint32_t)p[3];
}

/* Orientation (tag 0x0112) of IFD0 in a TIFF-structured EXIF block; 1 if absent. */
static int exif_orientation(const unsigned char *tiff, size_t size) {
    if (size < 8) return 1;
    int little;
    if (tiff[0] == 'I' && tiff[1] == 'I') little = 1;
    else if (tiff[0] == 'M' && tiff[1] == 'M') little = 0;
    else return 1;
    uint64_t offset = read32(tiff + 4, little);
    if (offset + 2 > size) return 1;
    unsigned count = read16(tiff + offset, little);
    for (unsigned index = 0; index < count; index++) {
        uint64_t entry = offset + 2 + 12 * (uint64_t)index;
        if (entry + 12 > size) return 1;
        if (read16(tiff + entry, little) == 0x0112) {
            unsigned value = read16(tiff + entry + 8, little);
            return value >= 1 && value <= 8 ? (int)value : 1;
        }
    }
    return 1;
}

static int is_sof(unsigned code) {
    return code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC;
}

static int is_standalone(unsigned code) { return code == 0x01 || (code >= 0xD0 && code <= 0xD7); }

/* 1 and the stored size and orientation, or 0 when the caller must ask Pillow. */
static int walk(struct reader *r, int *width, int *height, int *orientation) {
    size_t got;
    const unsigned char *p = window(r, 0, HEADER_READ, &got);
    if (got < 2 || p[0] != 0xFF || p[1] != 0xD8) return 0;
    off_t position = 2;
    *orientation = 1;
    for (int segment = 0; segment < MAX_SEGMENTS; segment++) {
        const unsigned char *marker = window(r, position, 4, &got);
        if (got < 4 || marker[0] != 0xFF) return 0;
        unsigned code = marker[1];
        if (code == 0xFF) { /* fill byte */
            position += 1;
            continue;
        }
        if (is_standalone(code)) {
            position += 2;
            continue;
        }
        if (code == 0xD9 || code == 0xDA) return 0;
        unsigned length = read16(marker + 2, 0);
        if (length < 2) return 0;
        if (is_sof(code)) {
            const unsigned char *sof = window(r, position + 4, 5, &got);
            if (got < 5) return 0;
            *height = (int)read16(sof + 1, 0);
            *width = (int)read16(sof + 3, 0);
            return *width && *height;
        }
        if (code == 0xE1 && length > 8) {
            const unsigned char *body = window(r, position + 4, length - 2, &got);
            if (got >= 6 && memcmp(body, "Exif\0\0", 6) == 0) {
                *orientation = exif_orientation(body + 6, got - 6);
            }
        }
        position += 2 + (off_t)length;
    }
    return 0;
}

struct result {
    int found, width, height, orientation;
};

static void probe_file(struct reader *r, const char *path, struct result *out) {
    out->found = 0;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) return; /* the caller's fallback reports the error with the name */
#ifdef POSIX_FADV_RANDOM
    /* Only the first few KiB are wanted: no read-ahead of 128 KiB per file, which
     * would make a cold probe read ten times the data. */
    posix_fadvise(r->fd, 0, 0, POSIX_FADV_RANDOM);
#endif
    r->base = 0;
    r->length = 0;
    out->found = walk(r, &out->width, &out->height, &out->orientation);
    close(r->fd);
}

#ifndef ANNOTASK_FUZZ
static PyObject *read_headers(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *sequence = PySequence_Fast(arg, "read_headers() takes a sequence of paths");
    if (sequence == NULL) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    PyObject **encoded = calloc((size_t)count + 1, sizeof(PyObject *));
    struct result *results = calloc((size_t)count + 1, sizeof(struct result));
    struct reader *reader = malloc(sizeof(struct reader));
    PyObject *answer = NULL;
    if (encoded == NULL || results == NULL || reader == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(sequence, i), &encoded[i])) goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        probe_file(reader, PyBytes_AS_STRING(encoded[i]), &results[i]);
    }
    Py_END_ALLOW_THREADS
    answer = PyList_New(count);
    if (answer == NULL) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item;
        if (results[i].found) {
            item = Py_BuildValue("(iii)", results[i].width, results[i].height,
                                 results[i].orientation);
            if (item == NULL) {
                Py_CLEAR(answer);
                goto done;
            }
        } else {
            item = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(answer, i, item);
    }
done:
    if (encoded != NULL) {
        for (Py_ssize_t i = 0; i < count; i++) Py_XDECREF(encoded[i]);
    }
    free(encoded);
    free(results);
    free(reader);
    Py_DECREF(sequence);
    return answer;
}

static PyMethodDef methods[] = {
    {"read_headers", read_headers, METH_O,
     "read_headers(paths) -> list[tuple[int, int, int] | None]\n\n"
     "(stored width, stored height, EXIF orientation) of each JPEG file, from its\n"
     "markers; None where the file cannot be opened or its headers are unusual."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_jpeg_headers",
    .m_doc = "JPEG frame sizes and EXIF orientations from markers, without the GIL.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__jpeg_headers(void) { return PyModule_Create(&module); }
#endif /* ANNOTASK_FUZZ */
