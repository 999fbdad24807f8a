package org.cnn4j.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Floating-point work done, in units of 10^9 FLOP. As an {@link AuxCounters.Type#OPERATIONS}
 * counter JMH divides it by the iteration time, so it shows up next to the primary result as
 * a secondary result named {@code <benchmark>:gflop} whose unit reads {@code ops/s}: that
 * figure is GFLOP/s.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class FlopCounter {
    public double gflop;

    @Setup(Level.Iteration)
    public void reset() {
        gflop = 0;
    }
}
