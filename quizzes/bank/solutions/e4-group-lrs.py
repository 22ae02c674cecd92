ftlab.unfreeze(model, "stage4", "head")
optimizer = torch.optim.SGD([
    {"params": model.stage4.parameters(), "lr": 1e-4},
    {"params": model.head.parameters(), "lr": 1e-3},
], momentum=0.9)
