for param in model.parameters():
    param.requires_grad = False
model.head = nn.Linear(model.head.in_features, 5)
