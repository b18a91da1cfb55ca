"""Adversarial evaluation proper: a generator fine-tuned against a critic (policy gradient with a
KL leash, a phase of the training engine), and what the fine-tuning gains on the critic it attacked
and on a judge it never saw (the gameability figure). ARCHITECTURE.md, "Adversarial evaluation"."""
