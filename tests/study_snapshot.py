"""The study arms as the Python of results.py defined them before the study files (a snapshot, literal data):
the names loaded from labseg/studies/*.toml must equal these, key order included."""

SCHEDULE_ARMS = {
    'constant': {'optimizer': 'adam', 'schedule': 'constant', 'warmup_epochs': 0.0, 'weight_decay': 0.0},
    'cosine': {'optimizer': 'adam', 'schedule': 'cosine', 'warmup_epochs': 1.0, 'weight_decay': 0.0},
    'onecycle': {'optimizer': 'adam', 'schedule': 'onecycle', 'warmup_epochs': 0.0, 'weight_decay': 0.0},
    'adamw-cosine': {'optimizer': 'adamw', 'schedule': 'cosine', 'warmup_epochs': 1.0, 'weight_decay': 0.01},
}
STRONG_RECIPE = {
    'optimizer': 'adamw',
    'weight_decay': 0.01,
    'schedule': 'cosine',
    'warmup_epochs': 2.0,
    'augment': 'all',
}
RECIPE_ARMS = {
    'strong': {},
    'fp32': {'amp': 'off'},
    'batch-dice': {'dice_reduction': 'batch'},
    'full-decode': {'decode': 'full'},
    'crop-2x': {'augment_source': '2x'},
    'mild-affine': {'affine_p': 0.5, 'affine_shift': 0.05},
    'wide-crop': {'crop_scale': 0.25},
    'mild-color': {'color_strength': 0.1},
    'wd-0': {'weight_decay': 0.0},
    'wd-0.05': {'weight_decay': 0.05},
    'warmup-5': {'warmup_epochs': 5.0},
    'floor-0.05': {'lr_floor': 0.05},
    'crop-2x + mild-affine': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05},
    'crop-2x + mild-affine + wd-0.05': {
        'augment_source': '2x',
        'affine_p': 0.5,
        'affine_shift': 0.05,
        'weight_decay': 0.05,
    },
    'crop-2x + mild-affine + floor-0.05': {
        'augment_source': '2x',
        'affine_p': 0.5,
        'affine_shift': 0.05,
        'lr_floor': 0.05,
    },
    # added with the study files (issue 42): the weights' moving average on the chosen recipe
    'crop-2x + mild-affine + ema': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05, 'ema_decay': 0.999},
    'crop-2x + mild-affine + copy-paste': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05,
                                           'copy_paste': 0.5},
    'crop-2x + mild-affine + cutmix': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05, 'cutmix': 0.5},
    'crop-2x + mild-affine + bce-lovasz': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05,
                                           'loss': 'bce_lovasz'},
    'crop-2x + mild-affine + deep-supervision': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05,
                                                 'deep_supervision': 0.4},
    'crop-2x + mild-affine + deep-supervision + ema': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05,
                                                       'deep_supervision': 0.4, 'ema_decay': 0.999},
    'crop-2x + mild-affine + width-24': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05, 'width': 24},
    'crop-2x + mild-affine + low-res-96': {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05,
                                           'low_res_scale': 0.75, 'low_res_share': 0.6},
    'crop-2x + mild-affine + low-res-96 + deep-supervision': {'augment_source': '2x', 'affine_p': 0.5,
                                                              'affine_shift': 0.05, 'low_res_scale': 0.75,
                                                              'low_res_share': 0.6, 'deep_supervision': 0.4},
    'crop-2x + mild-affine + low-res-64 + deep-supervision': {'augment_source': '2x', 'affine_p': 0.5,
                                                              'affine_shift': 0.05, 'low_res_scale': 0.5,
                                                              'low_res_share': 0.6, 'deep_supervision': 0.4},
    'crop-2x + mild-affine + low-res-96 + deep-supervision + low-res-share-0.9': {
        'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05, 'low_res_scale': 0.75, 'low_res_share': 0.9,
        'deep_supervision': 0.4},
}
RECIPE_COMBINATIONS = {
    'crop-2x + mild-affine': ('crop-2x', 'mild-affine'),
    'crop-2x + mild-affine + wd-0.05': ('crop-2x + mild-affine', 'wd-0.05'),
    'crop-2x + mild-affine + floor-0.05': ('crop-2x + mild-affine', 'floor-0.05'),
    'crop-2x + mild-affine + low-res-96 + deep-supervision': ('crop-2x + mild-affine + low-res-96',
                                                              'crop-2x + mild-affine + deep-supervision'),
}
RECIPE_BUDGETS = {'strong': (2, 4, 6), 'crop-2x + mild-affine': (4, 5.6, 6), 'crop-2x + mild-affine + ema': (6,),
                  'crop-2x + mild-affine + copy-paste': (6,), 'crop-2x + mild-affine + cutmix': (6,),
                  'crop-2x + mild-affine + bce-lovasz': (6,),
                  'crop-2x + mild-affine + deep-supervision': (6,),
                  'crop-2x + mild-affine + deep-supervision + ema': (6,), 'crop-2x + mild-affine + width-24': (2.6,),
                  'crop-2x + mild-affine + low-res-96': (7.6,),
                  'crop-2x + mild-affine + low-res-96 + deep-supervision': (6.4, 7.6),
                  'crop-2x + mild-affine + low-res-64 + deep-supervision': (7.6,),
                  'crop-2x + mild-affine + low-res-96 + deep-supervision + low-res-share-0.9': (7.6,)}
RESNET_RECIPE_ARMS = {
    '08 recipe': ('06-08', {}),
    '08 recipe + rotate': ('06-08', {'augment': 'rotate'}),
    '08 recipe + rotate + mild-affine': ('06-08', {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05}),
    'strong': ('strong', {}),
    'strong + crop-2x + mild-affine': ('strong', {'augment_source': '2x', 'affine_p': 0.5, 'affine_shift': 0.05}),
    '08 recipe + rotate + mild-affine + lr-2e-3': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'lr': 0.002},
    ),
    '08 recipe + rotate + mild-affine + lr-5e-4': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'lr': 0.0005},
    ),
    '08 recipe + rotate + mild-affine + color': (
        '06-08',
        {'augment': 'rotate-color', 'affine_p': 0.5, 'affine_shift': 0.05},
    ),
    '08 recipe + crop-2x + rotate + mild-affine': (
        '06-08',
        {'augment': 'scale-rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'augment_source': '2x'},
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'optimizer': 'adamw', 'weight_decay': 0.05},
    ),
    '08 recipe + rotate + mild-affine + batch-dice': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'dice_reduction': 'batch'},
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.1': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'optimizer': 'adamw', 'weight_decay': 0.1},
    ),
    '08 recipe + rotate + mild-affine + swa': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'swa_share': 0.2},
    ),
    '08 recipe + rotate + mild-affine + swa at 0.3x': (
        '06-08',
        {'augment': 'rotate', 'affine_p': 0.5, 'affine_shift': 0.05, 'swa_share': 0.2, 'swa_lr': 0.3},
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa': (
        '06-08',
        {
            'augment': 'rotate',
            'affine_p': 0.5,
            'affine_shift': 0.05,
            'optimizer': 'adamw',
            'weight_decay': 0.05,
            'swa_share': 0.2,
        },
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa at 0.3x': (
        '06-08',
        {
            'augment': 'rotate',
            'affine_p': 0.5,
            'affine_shift': 0.05,
            'optimizer': 'adamw',
            'weight_decay': 0.05,
            'swa_share': 0.2,
            'swa_lr': 0.3,
        },
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa + drop-path-0.1': (
        '06-08',
        {
            'augment': 'rotate',
            'affine_p': 0.5,
            'affine_shift': 0.05,
            'optimizer': 'adamw',
            'weight_decay': 0.05,
            'swa_share': 0.2,
            'drop_path': 0.1,
        },
    ),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa at 0.5x': (
        '06-08',
        {
            'augment': 'rotate',
            'affine_p': 0.5,
            'affine_shift': 0.05,
            'optimizer': 'adamw',
            'weight_decay': 0.05,
            'swa_share': 0.2,
            'swa_lr': 0.5,
        },
    ),
}
RESNET_RECIPE_BUDGETS = {
    '08 recipe + rotate + mild-affine': (2, 2.4, 2.8),
    '08 recipe + rotate + mild-affine + lr-2e-3': (2.4,),
    '08 recipe + rotate + mild-affine + lr-5e-4': (2.4,),
    '08 recipe + rotate + mild-affine + color': (2.4,),
    '08 recipe + crop-2x + rotate + mild-affine': (2.4,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05': (2.4,),
    '08 recipe + rotate + mild-affine + batch-dice': (2.4,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.1': (2.4,),
    '08 recipe + rotate + mild-affine + swa': (3.0,),
    '08 recipe + rotate + mild-affine + swa at 0.3x': (3.0,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa': (3.0,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa at 0.3x': (3.0,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa + drop-path-0.1': (3.0,),
    '08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa at 0.5x': (2.4, 3.0),
}
RECIPE_TARGETS = {'unet': 0.87, 'resnet34_unet': 0.85}
RECIPE_MAX_SECONDS = 900
FLIP_ARMS = ('none', 'hflip', 'hvflip', 'independent')
