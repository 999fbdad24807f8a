package org.cnn4j.spark;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.spark.BarrierTaskContext;
import org.cnn4j.dist.Rendezvous;

/**
 * The rendezvous of a Spark barrier stage: the rank is the task's partition, the size the
 * stage's task count, and the addresses go through {@link BarrierTaskContext#allGather}
 * (Spark's own barrier, with its timeout), as text.
 */
public final class SparkRendezvous implements Rendezvous {
    private final BarrierTaskContext ctx;

    public SparkRendezvous(BarrierTaskContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public int rank() {
        return ctx.partitionId();
    }

    @Override
    public int size() {
        return ctx.getTaskInfos().length;
    }

    @Override
    public List<byte[]> allGather(byte[] mine) {
        String[] all = ctx.allGather(Base64.getEncoder().encodeToString(mine));
        List<byte[]> out = new ArrayList<>(all.length);
        for (String s : all) {
            out.add(Base64.getDecoder().decode(s));
        }
        return out;
    }

    /** The host of this task's executor: where the other tasks reach it. */
    public String host() {
        String address = ctx.getTaskInfos()[ctx.partitionId()].address();
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }
}
