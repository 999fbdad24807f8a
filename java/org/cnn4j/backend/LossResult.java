package org.cnn4j.backend;

/** What a loss op returns per batch: the mean loss and the number of correct top-1 predictions. */
public record LossResult(double meanLoss, int correct) {
}
