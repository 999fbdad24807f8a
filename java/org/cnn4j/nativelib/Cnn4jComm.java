package org.cnn4j.nativelib;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * The JavaCPP binding of cnn4j's collective layer ({@code native/include/cnn4j/comm.h}, library
 * {@code libcnn4j_comm}), one method per C function with the same name and argument order. It
 * loads apart from {@link Cnn4jNative}: only distributed training needs it, and where the
 * library was built without Gloo every call refuses with the reason.
 */
@Platform(include = "cnn4j/comm.h", link = "cnn4j_comm")
public final class Cnn4jComm {
    static {
        Loader.load();
    }

    private Cnn4jComm() {
    }

    /** Loads the library (the static initialiser does the work); throws if it cannot load. */
    public static void load() {
        // Class initialisation has run Loader.load().
    }

    public static native int cnn4j_comm_abi_version();
    public static native int cnn4j_comm_create(int rank, int size, @Cast("const char*") String host, long timeoutMs,
                                               @Cast("cnn4j_comm**") long[] out);
    public static native int cnn4j_comm_address(@Cast("cnn4j_comm*") long comm, @Cast("void*") byte[] buf, long cap,
                                                @Cast("int64_t*") long[] len);
    public static native int cnn4j_comm_peer(@Cast("cnn4j_comm*") long comm, int rank,
                                             @Cast("const void*") byte[] address, long len);
    public static native int cnn4j_comm_connect(@Cast("cnn4j_comm*") long comm);
    public static native int cnn4j_comm_allreduce_sum_f32(@Cast("cnn4j_comm*") long comm, @Cast("float*") long data,
                                                          long n);
    public static native int cnn4j_comm_broadcast_f32(@Cast("cnn4j_comm*") long comm, @Cast("float*") long data,
                                                      long n, int root);
    public static native int cnn4j_comm_barrier(@Cast("cnn4j_comm*") long comm);
    public static native int cnn4j_comm_destroy(@Cast("cnn4j_comm*") long comm);
    public static native @Cast("const char*") String cnn4j_comm_last_error();
}
