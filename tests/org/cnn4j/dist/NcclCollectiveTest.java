package org.cnn4j.dist;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.cnn4j.NativeExpectation;
import org.cnn4j.backend.CudaBackend;
import org.junit.jupiter.api.Test;

/**
 * The collective layer over NCCL where it cannot run: a build without the CUDA kernels has the
 * stub library, which loads and says what it lacks instead of failing to link. (Its run on two
 * GPUs is CliTest's twoWorkersOnTwoGpusSumTheirGradientsWithNccl.)
 */
class NcclCollectiveTest {

    @Test
    void aBuildWithoutGpusSaysWhyThereIsNoNccl() {
        NativeExpectation.requireNative();
        if (CudaBackend.deviceCount() > 0) {
            org.junit.jupiter.api.Assumptions.abort("a GPU is here: the build may have NCCL");
        }
        String reason = NcclCollective.unavailableReason();
        assertNotNull(reason, "no GPU and no CUDA kernels, yet NCCL is said to be available");
        assertTrue(reason.contains("NCCL") && (reason.contains("NCCL_ROOT") || reason.contains("libnccl")), reason);
    }
}
