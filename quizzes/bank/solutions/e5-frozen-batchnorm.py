for layer in model.modules():
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        layer.eval()
