package org.cnn4j.backend;

import org.cnn4j.tensor.Window2d;

/**
 * The sizes of one 2-D convolution: input [n, c, h, w], weights [k, c/groups, kh, kw],
 * output [n, k, oh, ow] with oh/ow from {@link Window2d}.
 */
public record ConvDims(int n, int c, int h, int w, int k, int oh, int ow, Window2d win, int groups) {
}
