ftlab.unfreeze(model, "stage3", "stage4", "head")
body = list(model.stage3.parameters()) + list(model.stage4.parameters())
optimizer = torch.optim.SGD([{"params": body, "lr": 5e-5},
                             {"params": model.head.parameters(), "lr": 5e-3}], momentum=0.9)
