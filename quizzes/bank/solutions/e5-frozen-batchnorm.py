for module in model.modules():
    if isinstance(module, nn.BatchNorm2d):
        module.eval()
