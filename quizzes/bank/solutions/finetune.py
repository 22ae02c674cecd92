ftlab.freeze(model, "stem", "stage1", "stage2")
trainer = ftlab.Trainer(model, data.train, lr=0.05, lr_mult={"stage3": 0.3, "stage4": 0.3},
                        batch_size=20, progress=False, seed=0)
optimizer = trainer.optimizer
trainer.fit(epochs=EPOCHS)
