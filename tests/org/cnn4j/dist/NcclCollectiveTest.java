package org.cnn4j.dist;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.junit.jupiter.api.Test;

/**
 * The collective layer over NCCL where it cannot run: a build without NCCL (or without the CUDA
 * kernels) has the stub library, which loads and says what it lacks instead of failing to
 * link. (Its run on two GPUs is CliTest's twoWorkersOnTwoGpusSumTheirGradientsWithNccl.)
 */
class NcclCollectiveTest {

    @Test
    void aBuildWithoutNcclSaysWhy() {
        NativeExpectation.requireNative();
        String reason = NcclCollective.unavailableReason();
        if (reason == null) {
            org.junit.jupiter.api.Assumptions.abort("this build has NCCL (its run needs two GPUs: CliTest)");
        }
        assertTrue(reason.contains("NCCL") && (reason.contains("NCCL_ROOT") || reason.contains("libnccl")), reason);
    }
}
