"""GAN pieces with no experiment in them: objectives (losses), the Algorithm-1 Trainer and its
hooks (trainer, hooks), remedies for mode collapse, the networks (models) and the evaluation
classifier (evaluator). The experiments that use them are in tinygan.experiments."""
