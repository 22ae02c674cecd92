for tensor in model.parameters():
    tensor.requires_grad_(False)
model.head = nn.Linear(model.head.in_features, 7)
