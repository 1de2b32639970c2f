/*
 * Lower a JPEG's quality without decoding its pixels.
 *
 * A compressed chunk needs every frame at `image_quality`. Decoding to pixels and
 * encoding again costs an inverse DCT, colour conversion, chroma resampling and a
 * forward DCT per block, all of which cancel out. This module stays in the DCT
 * domain instead: libjpeg-turbo entropy-decodes the quantized coefficients
 * (`jpeg_read_coefficients`), each coefficient is rescaled from the source's
 * quantization table to libjpeg's table for the target quality, and the result is
 * entropy-encoded (`jpeg_write_coefficients`) as a baseline JPEG. That is the same arithmetic a decode/encode round trip performs,
 * minus the pixel-domain rounding, at about half the cost.
 *
 * The GIL is released for the whole transcode, so threads use every core.
 * Errors never longjmp across Python: libjpeg's error_exit jumps back here and
 * the call raises ValueError with libjpeg's message.
 *
 * Huffman tables are libjpeg's standard ones (optimizing them would be a second
 * pass costing more than the transcode saves), the same choice the pixel path
 * makes with simplejpeg.
 */
#ifndef ANNOTASK_FUZZ /* the fuzz harness (fuzz/) includes only the core below */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#endif

#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

struct error_manager {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void on_error(j_common_ptr cinfo) {
    struct error_manager *err = (struct error_manager *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    /* A warning (level -1: truncated or corrupt entropy data) fails the call, like
     * simplejpeg's strict decoding on the pixel path: a damaged frame must be
     * reported with its name, not silently padded with grey. Trace messages
     * (level >= 0) are ignored. */
    if (level < 0) on_error(cinfo);
}

/* Largest coefficient magnitudes written. Baseline Huffman coding carries AC values
 * below 2^10; DC values of an 8-bit image lie in [-1024, 1016], so a black block at
 * quality 100 keeps its -1024. A real image never goes beyond: only a damaged or
 * hostile file (coefficients up to 2^15, 16-bit quantization tables up to 65,535)
 * does, and its values saturate here instead of overflowing (a DC difference that
 * then needs 12 bits is refused by libjpeg with an error, never written). */
#define AC_LIMIT 1023
#define DC_LIMIT 1024
/* A scale (16 fractional bits) below this keeps magnitude * scale + 2^15 inside
 * int32 for every magnitude up to 2^15: 32768 * 65534 + 32768 < 2^31. */
#define NARROW_SCALE_LIMIT 65535

/* Rescale every coefficient of one component from `old` to `new` quantization.
 *
 * Fixed point (16 fractional bits) on magnitudes, rounding half away from zero as
 * libjpeg's quantizer does; written so that the compiler vectorizes the block loop.
 * Lowering quality (every scale below 1.0, the usual case) takes the 32-bit loop;
 * a table that scales some coefficient up by a factor near 1 or more takes a
 * 64-bit one, so no product can overflow whatever the file's tables say. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
/* An AVX2 copy beside the baseline one, chosen at load time: the 32-bit multiplies
 * vectorize only with AVX2 (SSE2 has none), which makes a transcode ~14% faster. */
__attribute__((target_clones("avx2", "default")))
#endif
#endif
static void requantize_component(j_decompress_ptr src, jvirt_barray_ptr array,
                                 jpeg_component_info *comp, const JQUANT_TBL *old_table,
                                 const JQUANT_TBL *new_table) {
    int32_t scale[DCTSIZE2];
    int64_t wide_scale[DCTSIZE2];
    int32_t limit[DCTSIZE2];
    int wide = 0;
    for (int k = 0; k < DCTSIZE2; k++) {
        limit[k] = k == 0 ? DC_LIMIT : AC_LIMIT;
        /* quantval is 16-bit and libjpeg refuses 0, so this is below 2^32. */
        int64_t exact = ((int64_t)old_table->quantval[k] << 16) / new_table->quantval[k];
        wide_scale[k] = exact;
        if (exact >= NARROW_SCALE_LIMIT) wide = 1;
        scale[k] = (int32_t)(exact < NARROW_SCALE_LIMIT ? exact : 0);
    }
    for (JDIMENSION row = 0; row < comp->height_in_blocks; row++) {
        JBLOCKARRAY rows = (*src->mem->access_virt_barray)((j_common_ptr)src, array, row, 1, TRUE);
        JCOEFPTR coef = rows[0][0];
        JDIMENSION count = comp->width_in_blocks;
        if (!wide) {
            for (JDIMENSION block = 0; block < count; block++, coef += DCTSIZE2) {
                for (int k = 0; k < DCTSIZE2; k++) {
                    int32_t value = coef[k];
                    int32_t magnitude = value < 0 ? -value : value;
                    int32_t scaled = (magnitude * scale[k] + 32768) >> 16;
                    scaled = scaled < limit[k] ? scaled : limit[k];
                    coef[k] = (JCOEF)(value < 0 ? -scaled : scaled);
                }
            }
        } else {
            for (JDIMENSION block = 0; block < count; block++, coef += DCTSIZE2) {
                for (int k = 0; k < DCTSIZE2; k++) {
                    int64_t value = coef[k];
                    int64_t magnitude = value < 0 ? -value : value;
                    int64_t scaled = (magnitude * wide_scale[k] + 32768) >> 16;
                    scaled = scaled < limit[k] ? scaled : limit[k];
                    coef[k] = (JCOEF)(value < 0 ? -scaled : scaled);
                }
            }
        }
    }
}

/* Return 0 and set out and out_size on success; 1 with err->message set on failure. */
static int transcode(const unsigned char *data, unsigned long size, int quality,
                     struct error_manager *err, unsigned char **out, unsigned long *out_size) {
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    volatile int src_ready = 0, dst_ready = 0;

    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    src.err = jpeg_std_error(&err->pub);
    dst.err = &err->pub;
    err->pub.error_exit = on_error;
    err->pub.emit_message = on_message;
    if (setjmp(err->jump)) {
        if (dst_ready) jpeg_destroy_compress(&dst);
        if (src_ready) jpeg_destroy_decompress(&src);
        free(*out);
        *out = NULL;
        return 1;
    }
    jpeg_create_decompress(&src);
    src_ready = 1;
    jpeg_create_compress(&dst);
    dst_ready = 1;

    jpeg_mem_src(&src, data, size);
    jpeg_read_header(&src, TRUE);
    jvirt_barray_ptr *coefficients = jpeg_read_coefficients(&src);

    jpeg_copy_critical_parameters(&src, &dst);
    jpeg_set_quality(&dst, quality, TRUE);
    dst.optimize_coding = FALSE;

    for (int ci = 0; ci < src.num_components; ci++) {
        jpeg_component_info *comp = &src.comp_info[ci];
        const JQUANT_TBL *old_table = comp->quant_table;
        if (old_table == NULL) old_table = src.quant_tbl_ptrs[comp->quant_tbl_no];
        const JQUANT_TBL *new_table = dst.quant_tbl_ptrs[dst.comp_info[ci].quant_tbl_no];
        if (old_table == NULL || new_table == NULL) {
            strcpy(err->message, "missing quantization table");
            longjmp(err->jump, 1);
        }
        requantize_component(&src, coefficients[ci], comp, old_table, new_table);
    }

    jpeg_mem_dest(&dst, out, out_size);
    jpeg_write_coefficients(&dst, coefficients);
    jpeg_finish_compress(&dst);
    jpeg_finish_decompress(&src);
    jpeg_destroy_compress(&dst);
    jpeg_destroy_decompress(&src);
    return 0;
}

#ifndef ANNOTASK_FUZZ
static PyObject *requantize(PyObject *self, PyObject *args) {
    Py_buffer view;
    int quality;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*i", &view, &quality)) return NULL;
    if (quality < 1 || quality > 100) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "quality must be 1..100");
        return NULL;
    }
    struct error_manager err;
    unsigned char *out = NULL;
    unsigned long out_size = 0;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = transcode(view.buf, (unsigned long)view.len, quality, &err, &out, &out_size);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (failed) {
        PyErr_SetString(PyExc_ValueError, err.message);
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_size);
    free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"requantize", requantize, METH_VARARGS,
     "requantize(jpeg: bytes, quality: int) -> bytes\n\n"
     "The same image as a baseline JPEG quantized with libjpeg's tables for `quality`,\n"
     "transcoded in the DCT domain. Raises ValueError when libjpeg cannot read it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_jpeg_requantize",
    .m_doc = "Lower a JPEG's quality in the DCT domain (libjpeg-turbo).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__jpeg_requantize(void) { return PyModule_Create(&module); }
#endif /* ANNOTASK_FUZZ */
