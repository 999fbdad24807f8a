package org.cnn4j.nativelib;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JavaCPP binding of cnn4j's collective layer on GPUs ({@code native/include/cnn4j/nccl.h},
 * library {@code libcnn4j_nccl}), one method per C function with the same name and argument
 * order. It loads apart from {@link Cnn4jNative}: only data-parallel training on GPUs needs it,
 * and where the library was built without NCCL every call refuses with the reason.
 */
@Platform(include = "cnn4j/nccl.h", link = "cnn4j_nccl")
public final class Cnn4jNccl {
    static {
        Loader.load();
    }

    private Cnn4jNccl() {
    }

    /** Loads the library (the static initialiser does the work); throws if it cannot load. */
    public static void load() {
        // Class initialisation has run Loader.load().
    }

    public static native int cnn4j_nccl_abi_version();
    public static native int cnn4j_nccl_unique_id(@Cast("void*") byte[] buf, long cap, @Cast("int64_t*") long[] len);
    public static native int cnn4j_nccl_create(int rank, int size, @Cast("const void*") byte[] id, long len,
                                               long timeoutMs, @Cast("cnn4j_nccl**") long[] out);
    public static native int cnn4j_nccl_allreduce_sum_f32(@Cast("cnn4j_nccl*") long comm,
                                                          @Cast("float*const*") long[] data,
                                                          @Cast("const int64_t*") long[] n, int count,
                                                          @Cast("void*") long stream);
    public static native int cnn4j_nccl_broadcast_f32(@Cast("cnn4j_nccl*") long comm, @Cast("float*const*") long[] data,
                                                      @Cast("const int64_t*") long[] n, int count, int root,
                                                      @Cast("void*") long stream);
    public static native int cnn4j_nccl_destroy(@Cast("cnn4j_nccl*") long comm);
    public static native @Cast("const char*") String cnn4j_nccl_last_error();
}
