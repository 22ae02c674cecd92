for tensor in model.parameters():
    tensor.requires_grad_(False)
