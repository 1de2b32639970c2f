/*
 * libFuzzer target for media/_jpeg_requantize.c: the transcoder's core, without Python.
 *
 * Built by scripts/fuzz with clang -fsanitize=fuzzer,address,undefined. The input is
 * a JPEG; it is transcoded at quality 100 (the largest upward scaling, where the
 * coefficient arithmetic is most exposed) and at a quality taken from its size.
 * Images over MAX_PIXELS are skipped: the server refuses those before the
 * requantizer sees them (image_max_pixels), and the fuzzer's memory limit would
 * otherwise report libjpeg's large but legitimate allocations.
 */
#define ANNOTASK_FUZZ 1
#include "../src/annotask/media/_jpeg_requantize.c"

#define MAX_PIXELS (1024 * 1024)

static void quiet(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;
}

/* 1 when the header is readable and the image small enough to transcode. */
static int small_enough(const uint8_t *data, size_t size) {
    struct jpeg_decompress_struct cinfo;
    struct error_manager err;
    int ok = 0;
    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.emit_message = quiet;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    ok = (uint64_t)cinfo.image_width * cinfo.image_height <= MAX_PIXELS;
    jpeg_destroy_decompress(&cinfo);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || !small_enough(data, size)) return 0;
    int qualities[2] = {100, 1 + (int)(size % 100)};
    for (int i = 0; i < 2; i++) {
        struct error_manager err;
        unsigned char *out = NULL;
        unsigned long out_size = 0;
        if (transcode(data, (unsigned long)size, qualities[i], &err, &out, &out_size) == 0) {
            free(out);
        }
    }
    return 0;
}
