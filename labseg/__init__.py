"""labseg: binary pet/background segmentation on Oxford-IIIT Pet, UNet vs ResNet34-UNet."""
__version__ = "0.1.0"
